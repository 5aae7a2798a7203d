"""A credential's life after its first paste: rotate, revoke, add after a revoke, history."""
