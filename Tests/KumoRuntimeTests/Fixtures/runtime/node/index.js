// A node handler for the runtime tests: answers an http trigger in the HTTP API v2 format.
exports.handler = async (event, context) => ({
  statusCode: 201,
  headers: { "content-type": "text/plain", "x-runtime": "node" },
  body: `node says hi to ${(event.queryStringParameters || {}).name || "nobody"} (${context.functionName})`,
});
