import { describePgStoreContract } from '../../../../test/helpers/store-contract.js';

await describePgStoreContract('PostgresStore');
