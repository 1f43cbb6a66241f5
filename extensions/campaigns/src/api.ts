/**
 * The workbench's campaign REST API as the front end uses it: the list of campaigns
 * (`GET /workbench/api/campaigns`, served by `workbench.server`) and the address of a
 * campaign's labeling page. Requests go through `ServerConnection.makeRequest`, so the
 * server's own authentication (token, cookie, XSRF) applies, exactly as for JupyterLab's
 * own requests.
 */

import { ServerConnection } from '@jupyterlab/services';

/** Progress of one campaign: retired ordinary items, all ordinary items, and the
 * annotations of the server's user (`mine`). */
export interface IProgress {
  done: number;
  total: number;
  mine: number;
}

/** One campaign the server can see. */
export interface ICampaign {
  /** How the API addresses the campaign (its name, or `name@folder` when two share it). */
  key: string;
  name: string;
  /** The Collection's folder, relative to the server's root. */
  collection: string;
  scheme: string;
  description: string;
  progress: IProgress;
}

/** What `GET /workbench/api/campaigns` answers. */
export interface ICampaignList {
  /** The annotator the server labels as: its authenticated user. */
  annotator: string;
  campaigns: ICampaign[];
}

/** A failed listing, with a message fit to show the user. */
export class CampaignsError extends Error {
  constructor(
    message: string,
    readonly status: number
  ) {
    super(message);
  }
}

function base(settings: ServerConnection.ISettings): string {
  return settings.baseUrl.endsWith('/') ? settings.baseUrl : settings.baseUrl + '/';
}

/** The REST endpoint that lists the campaigns. */
export function campaignsUrl(settings: ServerConnection.ISettings): string {
  return base(settings) + 'workbench/api/campaigns';
}

/** The labeling page of campaign `key` (the key is data: always URL-encoded). */
export function labelPageUrl(
  key: string,
  settings: ServerConnection.ISettings
): string {
  return base(settings) + 'workbench/campaigns/' + encodeURIComponent(key) + '/label';
}

function text(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function count(v: unknown): number {
  const n = typeof v === 'number' ? v : NaN;
  return Number.isFinite(n) && n >= 0 ? Math.floor(n) : 0;
}

/** The listing's JSON as typed values; entries without a key or name are dropped and
 * every other field is coerced (strings to strings, counts to non-negative integers). */
export function parseCampaignList(data: unknown): ICampaignList {
  const obj = (data && typeof data === 'object' ? data : {}) as Record<string, unknown>;
  const raw = Array.isArray(obj.campaigns) ? obj.campaigns : [];
  const campaigns: ICampaign[] = [];
  for (const entry of raw) {
    if (!entry || typeof entry !== 'object') {
      continue;
    }
    const c = entry as Record<string, unknown>;
    const key = text(c.key);
    const name = text(c.name);
    if (!key || !name) {
      continue;
    }
    const p = (c.progress && typeof c.progress === 'object' ? c.progress : {}) as Record<
      string,
      unknown
    >;
    campaigns.push({
      key,
      name,
      collection: text(c.collection),
      scheme: text(c.scheme),
      description: text(c.description),
      progress: { done: count(p.done), total: count(p.total), mine: count(p.mine) }
    });
  }
  return { annotator: text(obj.annotator), campaigns };
}

/** The campaigns this server can see, with progress; throws a {@link CampaignsError}. */
export async function fetchCampaigns(
  settings: ServerConnection.ISettings
): Promise<ICampaignList> {
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(
      campaignsUrl(settings),
      { method: 'GET', cache: 'no-store' },
      settings
    );
  } catch (err) {
    throw new CampaignsError('Cannot reach the Jupyter server.', 0);
  }
  if (response.status === 404) {
    throw new CampaignsError(
      'This server has no campaign API: the workbench server extension is not enabled ' +
        '(see `jupyter server extension list`).',
      404
    );
  }
  let body: unknown = null;
  try {
    body = await response.json();
  } catch (err) {
    body = null;
  }
  if (!response.ok) {
    const msg =
      body && typeof body === 'object' ? text((body as Record<string, unknown>).message) : '';
    throw new CampaignsError(
      `Listing the campaigns failed (${response.status})${msg ? ': ' + msg : '.'}`,
      response.status
    );
  }
  return parseCampaignList(body);
}
