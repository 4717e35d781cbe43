"""Where nodes live: the backend protocol, the registry, and the local, sim and docker backends."""
