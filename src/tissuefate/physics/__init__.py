"""Physics of a session: heat transfer, microwave absorption (and later RF, cryo, transport)."""
