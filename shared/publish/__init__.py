"""Events out to their destinations (Event Grid, signed webhooks): an adapter; it imports the
domain and the platform only, never a sibling adapter."""
