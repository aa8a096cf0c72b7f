// llmfleet's authenticated uptime check, run by Amazon CloudWatch Synthetics (Node.js runtime,
// zipped as nodejs/node_modules/api_check.js, handler api_check.handler).
//
// Each run reads the fleet's API key from Secrets Manager (the secret named by API_KEY_SECRET,
// in the canary's own region), so the key lives only in the secret and in this run's memory:
// never in the canary's configuration, the Pulumi state or the run's artifacts. It then sends
// GET <url> with "Authorization: Bearer <key>" to every target of TARGETS (a JSON list of
// {"name", "url"}), one HTTP step each; any answer other than 2xx fails the step and the run.
const synthetics = require('Synthetics');
const log = require('SyntheticsLogger');
const { SecretsManagerClient, GetSecretValueCommand } = require('@aws-sdk/client-secrets-manager');

const apiKey = async () => {
  const client = new SecretsManagerClient({});
  const found = await client.send(new GetSecretValueCommand({ SecretId: process.env.API_KEY_SECRET }));
  if (!found.SecretString) {
    throw new Error(`secret ${process.env.API_KEY_SECRET} has no value`);
  }
  return found.SecretString.trim();
};

const expectSuccess = async (res) =>
  new Promise((resolve, reject) => {
    if (res.statusCode < 200 || res.statusCode > 299) {
      reject(new Error(`${res.statusCode} ${res.statusMessage}`));
    }
    res.on('data', () => {});
    res.on('end', resolve);
  });

exports.handler = async () => {
  // Neither headers nor bodies go into the run's reports, and the Authorization header is
  // redacted wherever the library would record it.
  synthetics.getConfiguration().setConfig({
    restrictedHeaders: ['authorization'],
    includeRequestHeaders: false,
    includeResponseHeaders: false,
    includeRequestBody: false,
    includeResponseBody: false,
    continueOnHttpStepFailure: true,
  });
  const key = await apiKey();
  const targets = JSON.parse(process.env.TARGETS);
  for (const target of targets) {
    const url = new URL(target.url);
    log.info(`GET ${url.href}`);
    await synthetics.executeHttpStep(
      target.name,
      {
        hostname: url.hostname,
        method: 'GET',
        path: url.pathname,
        port: 443,
        protocol: 'https:',
        headers: { Authorization: `Bearer ${key}` },
      },
      expectSuccess,
    );
  }
};
