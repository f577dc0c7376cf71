"""The validation proxy: `contracts proxy --upstream URL` forwards traffic to a deployment unchanged and
checks every exchange against the contract and the request lifecycle.

forward      HTTP/1.1 forwarding on asyncio and h11 (bytes in, bytes out; hop-by-hop headers only dropped)
exchange     one request and its answer, as the checks see them
rules        the rules by stable name (the report's and JUnit's vocabulary)
conformance  exchange rules: statuses, schemas, error catalogue, the request as sent
tracking     lifecycle rules: each request followed across calls, bounded memory
recorder     violations: the console line, the live list, the JSON report, JUnit
redaction    no secrets and no control characters in anything written
app          the pieces put together, the control endpoint, a clean stop; command: the CLI
testing      serve_in_thread, for test suites
"""
