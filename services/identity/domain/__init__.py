"""Identity rules, free of I/O."""
