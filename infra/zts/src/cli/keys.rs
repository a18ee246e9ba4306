//! `zts keys`: a store's API keys, the local one or a deployment's ApiKeys table.

use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use zts_domain::auth::{self, ApiKeyRecord, KeyStatus, Limits};
use zts_domain::ports::KeyStore;
use zts_embedded::EmbeddedStore;

use super::CliError;

#[derive(Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    pub command: KeysCommand,
    #[arg(long, default_value = "zts-data", env = "ZTS_DATA_DIR", global = true)]
    pub data_dir: PathBuf,
    /// Manage the keys of a deployment instead: its ApiKeys table (the stack output
    /// `ApiKeysTableName`), with AWS credentials and region from the environment.
    #[arg(
        long,
        env = "ZTS_API_KEYS_TABLE",
        global = true,
        conflicts_with = "data_dir"
    )]
    pub api_keys_table: Option<String>,
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Create a key for an owner; the key is printed once and stored only as a hash.
    /// Create another for the same owner to rotate, then revoke the old one.
    Create {
        /// The tenant the key acts for: its projects are the owner's, and another
        /// owner's are invisible to it (letters, digits and - _ . @, at most 64).
        #[arg(long)]
        owner: String,
        /// Requests per second this key may send (default: the server's --rate); give
        /// --burst with it.
        #[arg(long, requires = "burst")]
        rate: Option<f64>,
        /// Requests this key may send at once before --rate paces it (default: the
        /// server's --burst); give --rate with it.
        #[arg(long, requires = "rate")]
        burst: Option<u32>,
        /// When the key stops working: a date (2027-01-31, midnight UTC) or an RFC 3339
        /// time, in the future. Without it the key works until revoked.
        #[arg(long)]
        expires: Option<String>,
    },
    /// List keys: id, owner, status, limits, expiry (never the keys).
    List {
        /// One JSON object per key instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key by its id (from `zts keys list`).
    Revoke {
        /// The key's id: the first column of `zts keys list` (a prefix of it is enough
        /// when only one key starts with it).
        key_id: String,
    },
}

/// Runs one `zts keys` command.
pub async fn run(args: KeysArgs) -> ExitCode {
    match keys(args.command, &args.data_dir, args.api_keys_table).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zts keys: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn keys(
    command: KeysCommand,
    data_dir: &std::path::Path,
    api_keys_table: Option<String>,
) -> Result<(), CliError> {
    let store: Box<dyn KeyStore> = match api_keys_table {
        Some(table) => deployed_keys(table).await?,
        None => Box::new(EmbeddedStore::open(data_dir)?),
    };
    match command {
        KeysCommand::Create {
            owner,
            rate,
            burst,
            expires,
        } => {
            let owner = zts_domain::Owner::parse(&owner).ok_or_else(|| CliError::Invalid {
                flag: "--owner",
                why: format!("{owner:?}: use letters, digits and - _ . @ (at most 64)"),
            })?;
            let limits = match (rate, burst) {
                (Some(rate), Some(burst)) => {
                    let limits = Limits { rate, burst };
                    limits.validate().map_err(|e| CliError::Invalid {
                        flag: "--rate/--burst",
                        why: e.to_string(),
                    })?;
                    Some(limits)
                }
                _ => None,
            };
            let expires_at = expires
                .as_deref()
                .map(|raw| zts::keys_view::parse_expiry(raw, zts_domain::clock::now()))
                .transpose()
                .map_err(|e| CliError::Invalid {
                    flag: "--expires",
                    why: e.to_string(),
                })?;
            let key = auth::new_key();
            let record = ApiKeyRecord {
                key_hash: auth::hash(&key),
                owner,
                status: KeyStatus::Active,
                limits,
                created_at: zts_domain::clock::now(),
                expires_at,
                revoked_at: None,
            };
            let id = record.key_id();
            store.put_key(record).await?;
            println!("{key}");
            eprintln!("created key {id} (shown once; store it now)");
        }
        KeysCommand::List { json } => {
            let keys = store.list_keys().await?;
            print!(
                "{}",
                zts::keys_view::table(&keys, zts_domain::clock::now(), json)
            );
        }
        KeysCommand::Revoke { key_id } => {
            match store.revoke_key(&key_id, zts_domain::clock::now()).await? {
                Some(k) => println!("revoked {} (owner {})", k.key_id(), k.owner),
                None => return Err(CliError::NoSuchKey(key_id)),
            }
        }
    }
    Ok(())
}

/// A deployment's key store: key commands touch only its ApiKeys table.
#[cfg(feature = "aws")]
async fn deployed_keys(api_keys_table: String) -> Result<Box<dyn KeyStore>, CliError> {
    let config = zts_aws::deploy::sdk_config().await;
    Ok(Box::new(zts_aws::DynamoKeyStore::new(
        aws_sdk_dynamodb::Client::new(&config),
        api_keys_table,
    )))
}

/// The local stack is built without the AWS SDK (a faster first build); managing a
/// deployment's keys needs it.
#[cfg(not(feature = "aws"))]
async fn deployed_keys(_api_keys_table: String) -> Result<Box<dyn KeyStore>, CliError> {
    Err(CliError::NeedsAws {
        what: "--api-keys-table",
        command: "keys",
    })
}
