export interface Config {
  /** Ferry: Kubernetes application backup and restore. */
  ferry?: {
    /**
     * Where backups are stored. The first one is the default unless `defaultTarget` names another.
     */
    targets?: Array<{
      /** Unique name, referenced by policies and shown in the UI. */
      name: string;
      /** `filesystem`: a path (NFS in clusters, a local folder for the embedded default). */
      type: 'filesystem' | 's3';
      /** filesystem: absolute path, or relative to the backend's working directory. */
      path?: string;
      /**
       * filesystem: how datamover pods reach the path, mounted there at the same path: the
       * node's folder at `path` (hostPath, the default: an NFS export mounted on every node, or a
       * local folder on a one-node cluster), or an NFS export mounted by the kubelet. Pod
       * Security "restricted" forbids both volume types: use an S3 target in such namespaces.
       */
      volume?: { nfs: { server: string; path: string } };
      /** s3: bucket name. */
      bucket?: string;
      /** s3: key prefix inside the bucket. */
      prefix?: string;
      /** s3: endpoint of an S3-compatible server; AWS when absent. */
      endpoint?: string;
      /** s3: region. */
      region?: string;
      /** s3: path-style addressing (most S3-compatible servers need it). */
      forcePathStyle?: boolean;
      /** s3: static credentials; the AWS SDK's default chain is used when absent. */
      credentials?: {
        accessKeyId: string;
        /** @visibility secret */
        secretAccessKey: string;
      };
      /**
       * Encryption at rest of everything stored on this target. The key is in a Kubernetes
       * Secret (never in app-config, a Backup's spec, a log, an event, a status or an API
       * answer): its data key `key` is the key new backups are encrypted with, at least 32
       * bytes (e.g. `head -c 32 /dev/urandom | base64`); every other data key of the Secret is
       * an older key still read (rotation: put the new key under `key`, keep the old one under
       * another name). Volume images become QCOW2 with LUKS (the key's bytes are the
       * passphrase: `qemu-img --object secret,id=k,file=<key file>` opens them), everything
       * else (resources YAML and Secrets, manifests, volume records and digest indexes, image
       * blobs) goes into an authenticated envelope (AES-256-GCM). Not with a policy's
       * `compression`: qemu's format has no encrypted compressed clusters.
       */
      encryption?: {
        secret: {
          name: string;
          /** Default: Ferry's namespace (`controller.namespace`). */
          namespace?: string;
          /** The data key to encrypt new backups with (default `key`). */
          key?: string;
          /** The cluster holding the Secret (default: the first configured cluster). */
          cluster?: string;
        };
        /** Also read backups stored in the clear before encryption was turned on (default false). */
        readUnencrypted?: boolean;
      };
      /**
       * s3 only: S3 Object Lock. Every object of a committed backup (and the volume images of
       * the chain it depends on, and its image blobs) is retained for `days` in `mode`:
       * governance (a user with s3:BypassGovernanceRetention may still delete) or compliance
       * (nobody may, until the date). The bucket must have been created with Object Lock.
       * Ferry's delete, retention and gc leave such backups until the date and say so. A
       * filesystem target with objectLock is refused.
       */
      objectLock?: {
        mode: 'governance' | 'compliance';
        days: number;
      };
    }>;
    /** Name of the target used when a policy names none. */
    defaultTarget?: string;
    /** Backup policies; an entity uses `ferry.io/policy`, else the first whose filter matches. */
    policies?: Array<{
      name: string;
      /** Target name; `defaultTarget` when absent. */
      target?: string;
      /** Cron expression for scheduled backups (Backstage scheduler, global scope); manual only when absent. */
      schedule?: string;
      /** Scheduled backups of this policy to keep per application; manual backups are not counted or deleted. */
      keepLast?: number;
      /** Start a new full backup after this many incrementals. */
      fullEvery?: number;
      /** Do not copy container images into the backup. */
      skipImageBackup?: boolean;
      /**
       * Compressed volume images (QCOW2 compressed clusters, which qemu reads): `zstd` (fast)
       * or `deflate` (qemu's "zlib"). Refused when the policy's target is encrypted: qemu's
       * format cannot hold clusters both compressed and encrypted (qemu-img refuses it too).
       */
      compression?: 'deflate' | 'zstd';
      /**
       * Entities this policy applies to, e.g. `{ kind: component, spec.lifecycle: production }`.
       * Without a filter, the policy applies only to entities that name it (`ferry.io/policy`).
       */
      filter?: { [key: string]: string };
    }>;
    /** Who administers Ferry (restore anywhere, the platform page). */
    permissions?: {
      /** Entity refs (users or groups) of administrators. */
      adminRefs?: string[];
    };
    /** How Ferry reaches container registries (image backup, reachability, image restore). */
    images?: {
      /** Registry hosts (host or host:port) reached over plain http; loopback hosts always are. */
      insecureRegistries?: string[];
      /** How long a reachability check of one image may take during validation (default 5). */
      checkTimeoutSeconds?: number;
      /**
       * Copy an image restore's `authSecret` found in Ferry's namespace into the restored
       * application's namespace as its pull secret (default false: the platform's registry
       * credentials are used for the push, in Ferry's namespace, and never leave it).
       */
      copyAuthSecret?: boolean;
    };
    /** Ferry's controllers of Backup and Restore resources. */
    controller?: {
      /** Namespace of the leader-election Lease in every cluster (default kube-system). */
      leaseNamespace?: string;
      /**
       * Ferry's own namespace (default ferry-system; created when absent): Restores whose target
       * namespace does not exist yet or that reach beyond one namespace (another namespace or
       * cluster than the backup's, privileged changes) live here. Backup and Restore resources
       * here act for the platform: only platform operators may create them (see the README's
       * "Who may restore what, where"). A Restore that stays within an existing namespace lives
       * in that namespace.
       */
      namespace?: string;
    };
    /** The datamover Jobs that move volume bytes inside the cluster. */
    datamover?: {
      /** Container image of the datamover. */
      image?: string;
      /** Service account of datamover pods. */
      serviceAccountName?: string;
      /** How many datamover Jobs of one backup or restore run at once (default 4). */
      parallelism?: number;
      /** Node selector of datamover pods. */
      nodeSelector?: { [key: string]: string };
      /** Resource requests and limits of datamover pods. */
      resources?: {
        requests?: { cpu?: string; memory?: string };
        limits?: { cpu?: string; memory?: string };
      };
    };
  };
}
