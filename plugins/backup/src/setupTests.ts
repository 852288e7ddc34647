import '@testing-library/jest-dom';
import { configure } from '@testing-library/react';

// CI runs every package's tests at once on two cores: give findBy/waitFor room before failing.
configure({ asyncUtilTimeout: 5000 });
jest.setTimeout(30_000);
