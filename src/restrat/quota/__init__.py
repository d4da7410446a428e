"""Total quantity control: national quota history and group allocations."""
