// Runs with every test file (vitest.config.ts setupFiles): the temporary
// directories a file made with tempDir are removed once its tests are done.

import { afterAll } from 'vitest';
import { removeTempDirs } from './cutenv.js';

afterAll(() => removeTempDirs());
