"""Tables registry builds from other services' events: engagement's identity-document counts per OSV."""
