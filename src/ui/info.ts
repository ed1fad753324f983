/** What this browser may do (from /api/info), for every page. */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Info } from './api.js';

export const InfoContext = createContext<Info>({ version: '', mode: '', access: 'none' });

export function useInfo(): Info {
  return useContext(InfoContext);
}
