"""The inference service: Paddler's NDJSON endpoints and the inference socket."""
