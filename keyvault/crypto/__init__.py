"""Encryption at rest: the cipher and key ring (``cipher``) and re-encryption under a new key
(``reencrypt``). The only door to ``cryptography``."""
