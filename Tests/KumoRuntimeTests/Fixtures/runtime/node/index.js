// A node handler for the runtime tests: answers an http trigger in the HTTP API v2 format. Asked
// to chatter, it prints that many lines, and one more from a timer after it returned.
exports.handler = async (event, context) => {
  if (event.chatter) {
    for (let i = 0; i < event.chatter; i++) console.log('chatter', i, context.awsRequestId);
    setTimeout(() => console.log('after return', context.awsRequestId), (event.printAfter || 0.3) * 1000);
  }
  return answer(event, context);
};

const answer = (event, context) => ({
  statusCode: 201,
  headers: { "content-type": "text/plain", "x-runtime": "node" },
  body: `node says hi to ${(event.queryStringParameters || {}).name || "nobody"} (${context.functionName})`,
});
