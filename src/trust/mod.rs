//! Trust material: public keys, private keys, trusted roots.
