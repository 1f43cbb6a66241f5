/**
 * workbench-campaigns: the workbench's labeling campaigns inside JupyterLab.
 *
 * - a "Campaigns" panel in the left sidebar (see `panel.ts`), fed by
 *   `GET /workbench/api/campaigns` (the `workbench.server` Jupyter server extension);
 * - a launcher card and a command-palette entry per campaign, kept in step with the list;
 * - `workbench-campaigns:open` opens a campaign's labeling page
 *   (`/workbench/campaigns/<key>/label`, same origin, so the Jupyter login applies) in a
 *   main-area tab; `workbench-campaigns:refresh` fetches the list again.
 */

import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  DOMUtils,
  ICommandPalette,
  IFrame,
  MainAreaWidget,
  WidgetTracker
} from '@jupyterlab/apputils';
import { ILauncher } from '@jupyterlab/launcher';
import { ServerConnection } from '@jupyterlab/services';
import { DisposableSet, IDisposable } from '@lumino/disposable';
import { Message } from '@lumino/messaging';

import { fetchCampaigns, ICampaign, labelPageUrl } from './api';
import { campaignIcon } from './icon';
import { CampaignPanel, percent } from './panel';

namespace CommandIDs {
  export const open = 'workbench-campaigns:open';
  export const refresh = 'workbench-campaigns:refresh';
}

/** The launcher section and palette category of the campaigns. */
const CATEGORY = 'Labeling Campaigns';
/** Milliseconds between automatic refreshes of the list. */
const REFRESH_MS = 30_000;

/** The labeling page of one campaign, framed. Scripts and same-origin requests are
 * allowed (the page is the server's own, with a strict CSP, and posts with the Jupyter
 * session's XSRF token); activating the tab gives it the keyboard. */
class LabelFrame extends IFrame {
  constructor(
    readonly key: string,
    url: string
  ) {
    super({ sandbox: ['allow-scripts', 'allow-same-origin'], referrerPolicy: 'no-referrer' });
    this.url = url;
    this.addClass('jp-WorkbenchLabelFrame');
    this.node.dataset.campaign = key;
  }

  protected onActivateRequest(msg: Message): void {
    const frame = this.node.querySelector('iframe');
    if (frame) {
      frame.focus();
      frame.contentWindow?.focus();
    }
  }
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'workbench-campaigns:plugin',
  description: 'Labeling campaigns of the workbench: side panel, launcher and palette.',
  autoStart: true,
  optional: [ILayoutRestorer, ILauncher, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    launcher: ILauncher | null,
    palette: ICommandPalette | null
  ) => {
    const settings = ServerConnection.makeSettings();
    const byKey = new Map<string, ICampaign>();
    const entries = new Map<string, IDisposable>();
    const tracker = new WidgetTracker<MainAreaWidget<LabelFrame>>({
      namespace: 'workbench-campaigns'
    });

    const nameOf = (key: string) => byKey.get(key)?.name ?? key;

    const open = (key: string): MainAreaWidget<LabelFrame> => {
      const shown = tracker.find(w => w.content.key === key);
      if (shown) {
        app.shell.activateById(shown.id);
        return shown;
      }
      const content = new LabelFrame(key, labelPageUrl(key, settings));
      const widget = new MainAreaWidget({ content });
      widget.id = DOMUtils.createDomID();
      widget.addClass('jp-WorkbenchLabelTab');
      widget.title.label = nameOf(key);
      const c = byKey.get(key);
      widget.title.caption = c?.collection
        ? `Labeling ${c.name} (${c.collection})`
        : `Labeling ${nameOf(key)}`;
      widget.title.icon = campaignIcon;
      widget.title.closable = true;
      void tracker.add(widget);
      app.shell.add(widget, 'main');
      app.shell.activateById(widget.id);
      return widget;
    };

    const panel = new CampaignPanel({
      fetch: () => fetchCampaigns(settings),
      open: c => void app.commands.execute(CommandIDs.open, { key: c.key }),
      interval: REFRESH_MS
    });
    panel.id = 'workbench-campaigns';
    panel.title.icon = campaignIcon;
    panel.title.caption = 'Labeling campaigns';

    app.commands.addCommand(CommandIDs.open, {
      label: args => {
        const key = typeof args.key === 'string' ? args.key : '';
        if (!key) {
          return 'Open Labeling Campaign';
        }
        const c = byKey.get(key);
        if (!args.palette) {
          return nameOf(key);
        }
        return c?.collection ? `Label ${c.name} (${c.collection})` : `Label ${nameOf(key)}`;
      },
      caption: args => {
        const c = typeof args.key === 'string' ? byKey.get(args.key) : undefined;
        if (!c) {
          return 'Open the labeling page of a campaign';
        }
        const { done, total, mine } = c.progress;
        return (
          `${c.name} (${c.collection}): ${done} / ${total} retired ` +
          `(${percent(done, total)}%), mine: ${mine}`
        );
      },
      icon: campaignIcon,
      execute: args => {
        const key = typeof args.key === 'string' ? args.key : '';
        if (!key) {
          app.shell.activateById(panel.id);
          return;
        }
        return open(key);
      }
    });

    app.commands.addCommand(CommandIDs.refresh, {
      label: 'Refresh Labeling Campaigns',
      caption: 'Fetch the campaigns and their progress again',
      icon: campaignIcon,
      execute: () => panel.refresh()
    });
    palette?.addItem({ command: CommandIDs.refresh, category: CATEGORY });

    // one launcher card and one palette entry per campaign, in step with the list
    panel.changed.connect((_, campaigns) => {
      byKey.clear();
      campaigns.forEach(c => byKey.set(c.key, c));
      for (const [key, entry] of entries) {
        if (!byKey.has(key)) {
          entry.dispose();
          entries.delete(key);
        }
      }
      campaigns.forEach((c, rank) => {
        if (entries.has(c.key)) {
          return;
        }
        const entry = new DisposableSet();
        if (launcher) {
          entry.add(
            launcher.add({
              command: CommandIDs.open,
              args: { key: c.key },
              category: CATEGORY,
              rank
            })
          );
        }
        if (palette) {
          entry.add(
            palette.addItem({
              command: CommandIDs.open,
              args: { key: c.key, palette: true },
              category: CATEGORY
            })
          );
        }
        entries.set(c.key, entry);
      });
      // labels and captions (progress) of the cards, entries and open tabs follow
      app.commands.notifyCommandChanged(CommandIDs.open);
      tracker.forEach(w => {
        const c = byKey.get(w.content.key);
        if (c) {
          w.title.label = c.name;
        }
      });
    });

    app.shell.add(panel, 'left', { rank: 650 });
    if (restorer) {
      restorer.add(panel, 'workbench-campaigns');
      void restorer.restore(tracker, {
        command: CommandIDs.open,
        args: w => ({ key: w.content.key }),
        name: w => w.content.key
      });
    }
  }
};

export default plugin;
