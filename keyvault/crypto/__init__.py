"""Encryption at rest: the cipher and key ring (``cipher``) and re-encryption under a new key
(``reencrypt``); Ed25519 signatures of audit checkpoints (``signing``). The only door to
``cryptography``."""
