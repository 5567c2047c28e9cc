"""Where services are created and wired together; nothing else lives here."""
