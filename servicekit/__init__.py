"""The shared kernel: what every service of the mesh needs, written and tested once."""
