"""Course domain: plain rules for teaching plans, parent courses and runs; no I/O."""
