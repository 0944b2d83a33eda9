"""The services of the mesh; each owns its tables and talks to others only through gRPC and events."""
