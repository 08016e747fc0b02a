import type { SVGProps } from 'react';

/**
 * Tab bar icons as inline SVG drawn in the text colour: emoji render as empty boxes where no
 * emoji font is installed.
 */
const STROKE: SVGProps<SVGSVGElement> = {
  width: 28,
  height: 28,
  viewBox: '0 0 24 24',
  fill: 'none',
  stroke: 'currentColor',
  strokeWidth: 1.8,
  strokeLinecap: 'round',
  strokeLinejoin: 'round',
  'aria-hidden': true,
  focusable: false,
};

export function ApprovalsIcon() {
  return (
    <svg {...STROKE} data-icon="approvals">
      <circle cx="12" cy="12" r="9" />
      <path d="m8 12.5 2.7 2.7L16.5 9" />
    </svg>
  );
}

export function BillingIcon() {
  return (
    <svg {...STROKE} data-icon="billing">
      <rect x="3" y="5.5" width="18" height="13" rx="2" />
      <path d="M3 10h18M7 15h4" />
    </svg>
  );
}

export function DevicesIcon() {
  return (
    <svg {...STROKE} data-icon="devices">
      <rect x="6.5" y="2.5" width="11" height="19" rx="2" />
      <path d="M11 18.5h2" />
    </svg>
  );
}

export function PositionsIcon() {
  return (
    <svg {...STROKE} data-icon="positions">
      <path d="M3 20h18" />
      <path d="m4 16 5-5 4 3 7-8" />
      <path d="M15 6h5v5" />
    </svg>
  );
}
