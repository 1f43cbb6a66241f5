/** The campaigns icon: a card with three progress bars (themed through `jp-icon3`). */

import { LabIcon } from '@jupyterlab/ui-components';

const svgstr = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M4 3h16a1 1 0 0 1 1 1v16a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1V4a1 1 0 0 1 1-1zm1 2v14h14V5z"/>
    <rect x="7" y="7.5" width="10" height="2" rx="1"/>
    <rect x="7" y="11" width="7" height="2" rx="1"/>
    <rect x="7" y="14.5" width="4" height="2" rx="1"/>
  </g>
</svg>`;

export const campaignIcon = new LabIcon({ name: 'workbench-campaigns:campaign', svgstr });
