/**
 * The console's views, in navigation order: the hash route `#/<id>` renders `component`. A view gets the
 * API (with the user's token) and its route parameters, and keeps everything it shows in them (deep links).
 */
import type { FunctionComponent } from 'preact';
import type { Api } from '../api.js';
import { EncryptionView } from './encryption.js';
import { FleetView } from './fleet.js';
import { FlowsView } from './flows.js';
import { MapView } from './map.js';
import { DropsView } from './drops.js';
import { PoliciesView } from './policies.js';

export interface ViewProps {
  api: Api;
  params: URLSearchParams;
}

export interface ViewDefinition {
  id: string;
  title: string;
  component: FunctionComponent<ViewProps>;
}

export const VIEWS: readonly ViewDefinition[] = [
  { id: 'fleet', title: 'Fleet', component: FleetView },
  { id: 'flows', title: 'Flows', component: FlowsView },
  { id: 'map', title: 'Service map', component: MapView },
  { id: 'drops', title: 'Drops', component: DropsView },
  { id: 'policies', title: 'Policies', component: PoliciesView },
  { id: 'encryption', title: 'Encryption', component: EncryptionView },
];
