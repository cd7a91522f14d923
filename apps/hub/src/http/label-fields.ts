import { z } from 'zod';

/** Labels of nodes, and the selectors of workloads and placement requests that match them. */
const labelKey = z.string().regex(/^[a-z0-9]([a-z0-9._/-]{0,61}[a-z0-9])?$/, {
  message:
    "label keys are 1-63 lowercase letters, digits, '.', '_', '-', '/', starting and ending with a letter or digit",
});
const labelValue = z
  .string()
  .max(128)
  .regex(/^[A-Za-z0-9._:/ -]*$/, { message: "label values may hold letters, digits, space and '._:/-'" });
export const labels = z
  .record(labelKey, labelValue)
  .refine((l) => Object.keys(l).length <= 64, { message: 'at most 64 labels' });
