"""The web admin panel service (the built app is python/paddler/web_admin_panel)."""
