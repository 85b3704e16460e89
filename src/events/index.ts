/** Public webhook API (re-export from the package entry): signing, verification, event types. */
export {
  EVENT_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signWebhook, verifyWebhook, verifyWebhookDetailed, webhookHeaders,
  type HeaderSource, type VerifyFailure, type VerifyOptions, type VerifyResult,
} from './signing.js';
export { EVENT_TYPES, type EventType, type WebhookEnvelope, type WebhookSubscription } from './types.js';
