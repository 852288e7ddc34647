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
      /** How many datamover Jobs of one backup run at once. */
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
