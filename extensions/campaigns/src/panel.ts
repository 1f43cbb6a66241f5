/**
 * The left-sidebar "Campaigns" panel: one row per campaign with its progress bar, the
 * retired and total counts and the user's own annotations; a refresh button, a refresh
 * whenever the panel is shown, and one on a timer while the browser tab is visible.
 *
 * Everything from the server is shown with `textContent` (and `title`, `data-`
 * attributes): campaign names, folders and descriptions are never parsed as HTML.
 */

import { refreshIcon } from '@jupyterlab/ui-components';
import { ISignal, Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { ICampaign, ICampaignList } from './api';

/** How a {@link CampaignPanel} gets its data and opens a campaign. */
export interface ICampaignPanelOptions {
  /** Fetch the list (throws an Error whose message is shown). */
  fetch: () => Promise<ICampaignList>;
  /** Open the labeling page of a campaign. */
  open: (campaign: ICampaign) => void;
  /** Milliseconds between automatic refreshes (0: none). */
  interval: number;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  content?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  if (content !== undefined) {
    node.textContent = content;
  }
  return node;
}

/** `done / total` as a whole percentage (0 for an empty campaign). */
export function percent(done: number, total: number): number {
  return total > 0 ? Math.min(100, Math.round((100 * done) / total)) : 0;
}

export class CampaignPanel extends Widget {
  constructor(options: ICampaignPanelOptions) {
    super();
    this._options = options;
    this.addClass('jp-WorkbenchCampaigns');

    const header = el('div', 'jp-WorkbenchCampaigns-header');
    header.appendChild(el('h2', 'jp-WorkbenchCampaigns-title', 'Campaigns'));
    this._refreshButton = el('button', 'jp-WorkbenchCampaigns-refresh jp-Button');
    this._refreshButton.type = 'button';
    this._refreshButton.title = 'Refresh the campaigns';
    this._refreshButton.setAttribute('aria-label', 'Refresh the campaigns');
    this._refreshButton.appendChild(refreshIcon.element({ tag: 'span' }));
    this._refreshButton.addEventListener('click', () => void this.refresh());
    header.appendChild(this._refreshButton);

    this._who = el('div', 'jp-WorkbenchCampaigns-annotator');
    this._status = el('div', 'jp-WorkbenchCampaigns-status');
    this._status.setAttribute('role', 'status');
    this._list = el('ul', 'jp-WorkbenchCampaigns-list');

    this.node.append(header, this._who, this._status, this._list);
  }

  /** The latest list (empty until the first refresh succeeds). */
  get campaigns(): readonly ICampaign[] {
    return this._campaigns;
  }

  /** Emitted with the campaigns after every successful refresh. */
  get changed(): ISignal<this, readonly ICampaign[]> {
    return this._changed;
  }

  /** Fetch and show the campaigns; concurrent calls share one request. */
  refresh(): Promise<void> {
    if (!this._pending) {
      this._pending = this._refresh().finally(() => {
        this._pending = null;
      });
    }
    return this._pending;
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._stopTimer();
    Signal.clearData(this);
    super.dispose();
  }

  protected onAfterAttach(): void {
    this._startTimer();
    void this.refresh();
  }

  protected onBeforeDetach(): void {
    this._stopTimer();
  }

  protected onAfterShow(): void {
    void this.refresh();
  }

  private async _refresh(): Promise<void> {
    this.node.dataset.loading = '1';
    this._refreshButton.disabled = true;
    try {
      const got = await this._options.fetch();
      this._campaigns = got.campaigns;
      this._render(got);
      this._status.textContent = '';
      this.node.dataset.error = '';
      this.node.dataset.refreshed = String(++this._refreshes);
      this._changed.emit(this._campaigns);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      this._status.textContent = msg;
      this.node.dataset.error = msg;
    } finally {
      delete this.node.dataset.loading;
      this._refreshButton.disabled = false;
    }
  }

  private _render(got: ICampaignList): void {
    this._who.textContent = got.annotator ? `Labeling as ${got.annotator}` : '';
    const rows = got.campaigns.map(c => this._row(c));
    if (rows.length === 0) {
      rows.push(
        el(
          'li',
          'jp-WorkbenchCampaigns-empty',
          'No campaigns here. Create one with `workbench campaign create` ' +
            'in a Collection under this server’s folder.'
        )
      );
    }
    this._list.replaceChildren(...rows);
  }

  private _row(c: ICampaign): HTMLLIElement {
    const { done, total, mine } = c.progress;
    const pct = percent(done, total);
    const li = el('li', 'jp-WorkbenchCampaigns-item');
    li.dataset.key = c.key;

    const open = el('button', 'jp-WorkbenchCampaigns-open', c.name);
    open.type = 'button';
    open.title = c.description
      ? `${c.description}\n\nOpen the labeling page`
      : 'Open the labeling page';
    open.addEventListener('click', () => this._options.open(c));
    li.appendChild(open);

    const where = [c.collection, c.scheme].filter(s => s).join(' · ');
    li.appendChild(el('div', 'jp-WorkbenchCampaigns-where', where));

    const bar = el('div', 'jp-WorkbenchCampaigns-bar');
    bar.setAttribute('role', 'progressbar');
    bar.setAttribute('aria-label', `${c.name}: items retired`);
    bar.setAttribute('aria-valuemin', '0');
    bar.setAttribute('aria-valuemax', String(total));
    bar.setAttribute('aria-valuenow', String(done));
    const fill = el('div', 'jp-WorkbenchCampaigns-fill');
    fill.style.width = `${pct}%`;
    bar.appendChild(fill);
    li.appendChild(bar);

    const counts = el('div', 'jp-WorkbenchCampaigns-counts');
    counts.appendChild(
      el('span', 'jp-WorkbenchCampaigns-done', `${done} / ${total} retired (${pct}%)`)
    );
    counts.appendChild(el('span', 'jp-WorkbenchCampaigns-mine', `mine: ${mine}`));
    li.appendChild(counts);
    return li;
  }

  private _startTimer(): void {
    this._stopTimer();
    if (this._options.interval > 0) {
      this._timer = window.setInterval(() => {
        // also while the panel is closed: the launcher and the palette show the list too
        if (!document.hidden) {
          void this.refresh();
        }
      }, this._options.interval);
    }
  }

  private _stopTimer(): void {
    if (this._timer !== null) {
      window.clearInterval(this._timer);
      this._timer = null;
    }
  }

  private _options: ICampaignPanelOptions;
  private _campaigns: ICampaign[] = [];
  private _changed = new Signal<this, readonly ICampaign[]>(this);
  private _pending: Promise<void> | null = null;
  private _refreshes = 0;
  private _timer: number | null = null;
  private _refreshButton: HTMLButtonElement;
  private _who: HTMLDivElement;
  private _status: HTMLDivElement;
  private _list: HTMLUListElement;
}
