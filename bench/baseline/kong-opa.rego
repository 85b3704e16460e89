# The policy OPA's REST server answers in bench/http.mjs kong-opa-vs-opa (BENCH_OPA=/path/to/opa):
# the decisions bench/configs/core.yaml takes for the Kong opa plugin's input, written in Rego as
# an OPA-for-Kong user would (the small refund by the supervised billing-agent is allowed, and an
# object like the sidecar's answer is returned). Not the sidecar's code: a baseline only.
package ascend

import rego.v1

supervised := {"billing-agent"}

http := input.request.http

default allow := {"allow": false, "status": 403}

allow := {"allow": true, "headers": {"x-ascend-decision": "allowed"}} if {
	http.method == "POST"
	startswith(http.path, "/v1/refunds/")
	supervised[http.headers["x-agent-id"]]
	to_number(http.querystring.amount) <= 1000
}

allow := {"allow": true, "headers": {"x-ascend-decision": "allowed"}} if {
	http.method == "GET"
	startswith(http.path, "/v1/orders/")
}
