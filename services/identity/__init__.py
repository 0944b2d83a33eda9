"""The identity service: provinces, schools, users, credentials, tokens, registrations,
imports, and out-of-province school applications."""
