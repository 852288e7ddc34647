import { csiDriverName, csiDriverVersion } from './constants';

/** The CSI Identity service: name, a Controller service, online expansion, always ready. */
export function identityService() {
  return {
    GetPluginInfo: async () => ({ name: csiDriverName, vendor_version: csiDriverVersion, manifest: {} }),
    GetPluginCapabilities: async () => ({
      capabilities: [{ service: { type: 'CONTROLLER_SERVICE' } }, { volume_expansion: { type: 'ONLINE' } }],
    }),
    Probe: async () => ({ ready: { value: true } }),
  };
}
