"""Identity adapters: tables, signing keys, password hashing."""
