/** The API's name and version, as the OpenAPI document and the index at `/` state them. */
export const API_NAME = 'edgecart API';
export const API_VERSION = '0.1.0';
