/** Where an approval's status can be read: the SDK route, as a path or under `api.public_url`. */
export const APPROVAL_STATUS_PREFIX = '/api/sdk/approval/';

export function approvalStatusUrl(publicUrl: string | undefined, approvalId: string): string {
  const base = publicUrl === undefined ? '' : publicUrl.replace(/\/+$/, '');
  return `${base}${APPROVAL_STATUS_PREFIX}${encodeURIComponent(approvalId)}`;
}
