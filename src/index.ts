/**
 * The package entry (`import { verifyWebhook } from 'ascend-sidecar'`): what a webhook receiver
 * needs. The sidecar itself runs through the `ascend-sidecar` CLI.
 */
export * from './events/index.js';
