"""Stateful mock of Capillary's request-workflow (maker-checker) APIs, driven by openapi.yaml."""
