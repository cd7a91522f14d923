import { z } from 'zod';

/**
 * What a `zone` instance needs besides the common instance spec: the brand (bhyve or a native
 * one), memory and CPUs, the boot disk (bhyve), an ISO or a ZFS image to clone, VNICs and
 * zonecfg attrs. Names follow the agent's host-name rules (docs/api/zones.md), checked again on
 * the agent before any command runs.
 */
export const ZONE_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]{0,62}$/;
export const ZONE_SIZE_PATTERN = /^\d{1,15}[KMGT]?$/;
export const ZONE_DATASET_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]{0,62}(\/[A-Za-z0-9][A-Za-z0-9_.:-]{0,254})*$/;
export const ZONE_BRANDS = ['bhyve', 'lipkg', 'ipkg', 'sparse', 'pkgsrc'] as const;

const linkName = z.string().regex(ZONE_NAME_PATTERN, {
  message: "link names start with a letter, then letters, digits, '_', '.', '-' (at most 63)",
});
const size = z
  .string()
  .regex(ZONE_SIZE_PATTERN, { message: 'sizes are a number with an optional K, M, G or T suffix, e.g. 20G' });

export const zoneVnic = z
  .object({
    /** The VNIC's name; the agent derives one (ending in a digit, as dladm requires) when absent. */
    name: linkName.optional(),
    /** The physical link, etherstub or aggregation it sits on. */
    over: linkName,
    vlan_id: z.number().int().min(1).max(4094).optional(),
    mac: z
      .string()
      .regex(/^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}$/, { message: 'a MAC is six hex octets separated by ":"' })
      .optional(),
    allowed_address: z
      .string()
      .regex(/^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/, { message: 'an IPv4 address with a prefix length, e.g. 10.0.0.5/24' })
      .optional(),
    defrouter: z
      .string()
      .regex(/^(\d{1,3}\.){3}\d{1,3}$/, { message: 'an IPv4 address' })
      .optional(),
  })
  .strict();
export type ZoneVnic = z.infer<typeof zoneVnic>;

export const zoneInstanceConfig = z
  .object({
    brand: z.enum(ZONE_BRANDS).default('lipkg'),
    /** Guest memory (bhyve) or the memory cap (native); the instance's memory_bytes when absent. */
    ram: size.optional(),
    vcpus: z.number().int().min(1).max(256).optional(),
    /** bhyve: the boot disk, a zvol of this size, or a clone of `image` (a `pool/path@snapshot`). */
    boot_disk: z
      .object({
        size: size,
        image: z
          .string()
          .max(512)
          .refine(
            (v) => {
              const [ds, snap, extra] = v.split('@');
              return (
                extra === undefined &&
                ZONE_DATASET_PATTERN.test(ds) &&
                !!snap &&
                /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/.test(snap)
              );
            },
            { message: 'an image is a ZFS snapshot, pool/path@name' },
          )
          .optional(),
      })
      .strict()
      .optional(),
    /** bhyve: an installer ISO on the host, attached as the CD-ROM. */
    iso: z
      .string()
      .max(1024)
      .regex(/^\/[A-Za-z0-9_./-]*$/, { message: 'an absolute host path of letters, digits, _ . / -' })
      .refine((p) => !p.split('/').includes('..'), { message: "no '..' in the ISO path" })
      .optional(),
    vnics: z.array(zoneVnic).max(8).default([]),
    /** zonecfg attrs (bhyve reads `bootrom`, `vnc`, `console`, …). */
    attrs: z
      .record(
        z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, { message: 'attr names are lower-case letters, digits, _ and -' }),
        z.string().regex(/^[A-Za-z0-9_.,:=/@+-]{0,1024}$/, {
          message: 'attr values are letters, digits and _ . , : = / @ + - only',
        }),
      )
      .default({}),
    autoboot: z.boolean().default(false),
  })
  .strict();
export type ZoneInstanceConfig = z.infer<typeof zoneInstanceConfig>;
