// Browser journeys with the dev-idp on the app's site (localhost, another port).
import { journeys } from './journeys.ts';

journeys({ name: 'same-site', idpHost: 'localhost' });
