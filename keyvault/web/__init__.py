"""What every page shares: roles, secrecy decorators, request info and form helpers."""
