// Browser journeys with the dev-idp on another site (127.0.0.1) than the app (localhost), as in production.
import { journeys } from './journeys.ts';

journeys({ name: 'cross-site', idpHost: '127.0.0.1' });
