"""Flows: orchestration across core's domains, so the domain packages never import each other in
a cycle (tests/test_architecture.py checks it). A flow takes channel-neutral inputs and returns
plain data; the adapters (bot/, api/, web/) call flows and domain services, never the other way."""
