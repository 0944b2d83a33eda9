"""The identity service: provinces, schools, users, credentials, tokens, registrations, imports, out-of-province applications."""
