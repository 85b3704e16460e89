import { describeStoreContract } from '../../../../test/helpers/store-contract.js';
import { SqliteStore } from './sqlite-store.js';

describeStoreContract('SqliteStore', async (path) => new SqliteStore({ path }));
