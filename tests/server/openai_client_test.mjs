// OpenAI's JavaScript client, unmodified, against sherry-server: models, chat and text
// completions whole and streamed (the streamed text must equal the whole one for the same greedy
// request), errors turned into the client's own error classes, an aborted stream, the API key.
//   node openai_client_test.mjs OPENAI_PACKAGE_DIR BASE_URL API_KEY
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';

const [packageDir, baseURL, apiKey] = process.argv.slice(2);
const { default: OpenAI } = await import(pathToFileURL(`${packageDir}/index.mjs`).href);

let checks = 0;
function check(condition, message) {
  assert.ok(condition, message);
  checks += 1;
}

// The model loads after the server listens: wait for /health.
const root = baseURL.replace(/\/v1$/, '');
for (let i = 0; ; i += 1) {
  const health = await fetch(`${root}/health`).catch(() => null);
  if (health && health.status === 200) break;
  if (i > 300) throw new Error('sherry-server did not answer GET /health with 200 in 30 s');
  await new Promise((resolve) => setTimeout(resolve, 100));
}

const client = new OpenAI({ apiKey, baseURL, maxRetries: 0, timeout: 60_000 });

const models = await client.models.list();
check(models.data.length === 1 && models.data[0].object === 'model', 'one model listed');
const model = models.data[0].id;

const messages = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Hello, how are you?' },
];
const whole = await client.chat.completions.create({
  model, messages, max_tokens: 12, temperature: 0, ignore_eos: true,
});
check(whole.object === 'chat.completion', 'a chat.completion');
check(whole.choices.length === 1 && whole.choices[0].message.role === 'assistant', 'an assistant message');
check(typeof whole.choices[0].message.content === 'string', 'text content');
check(whole.choices[0].finish_reason === 'length', 'finish_reason length at max_tokens');
check(whole.usage.completion_tokens === 12, 'usage counts max_tokens');
check(whole.usage.total_tokens === whole.usage.prompt_tokens + 12, 'usage adds up');

const stream = await client.chat.completions.create({
  model, messages, max_tokens: 12, temperature: 0, ignore_eos: true,
  stream: true, stream_options: { include_usage: true },
});
let streamed = '';
let finish = null;
let usage = null;
let chunks = 0;
for await (const chunk of stream) {
  chunks += 1;
  for (const choice of chunk.choices) {
    streamed += choice.delta.content ?? '';
    if (choice.finish_reason) finish = choice.finish_reason;
  }
  if (chunk.usage) usage = chunk.usage;
}
check(chunks >= 3, 'several chunks');
check(streamed === whole.choices[0].message.content, 'streamed text equals the whole text');
check(finish === 'length', 'the stream ends with a finish reason');
check(usage && usage.completion_tokens === 12, 'the usage chunk');

const text = await client.completions.create({
  model, prompt: 'hello the world', max_tokens: 6, temperature: 0, ignore_eos: true,
});
check(text.object === 'text_completion' && typeof text.choices[0].text === 'string', 'a text completion');
const textStream = await client.completions.create({
  model, prompt: 'hello the world', max_tokens: 6, temperature: 0, ignore_eos: true, stream: true,
});
let streamedText = '';
for await (const chunk of textStream) streamedText += chunk.choices[0]?.text ?? '';
check(streamedText === text.choices[0].text, 'streamed completion equals the whole one');

// A stream the client aborts after its first text; the next request is served.
const aborted = await client.chat.completions.create({
  model, messages, max_tokens: 400, ignore_eos: true, stream: true,
});
for await (const chunk of aborted) {
  if (chunk.choices[0]?.delta?.content) {
    aborted.controller.abort();
    break;
  }
}
const after = await client.chat.completions.create({ model, messages, max_tokens: 3 });
check(after.choices[0].message.role === 'assistant', 'served after an aborted stream');

// Errors arrive as the client's error classes with the server's message.
await assert.rejects(
  client.chat.completions.create({ model, messages: [{ role: 'wizard', content: 'x' }] }),
  (e) => e instanceof OpenAI.BadRequestError && e.status === 400 && /wizard/.test(e.message),
);
checks += 1;
await assert.rejects(
  client.chat.completions.create({ model, messages, max_tokens: 0 }),
  (e) => e instanceof OpenAI.BadRequestError && /max_tokens/.test(e.message),
);
checks += 1;
const wrongKey = new OpenAI({ apiKey: 'wrong', baseURL, maxRetries: 0 });
await assert.rejects(
  wrongKey.models.list(),
  (e) => e instanceof OpenAI.AuthenticationError && e.status === 401,
);
checks += 1;

console.log(`openai ${packageDir.split('/').pop()}: ${checks} checks passed against ${baseURL}`);
