"""The dispatch core: agents, slots, buffered requests and the relay of each request.

Framework-free: nothing here imports Starlette, uvicorn or a service package
(tests/unit/test_the_dispatch_core_imports_no_framework_and_no_service.py)."""
